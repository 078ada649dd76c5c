"""The registration protocol of Exchange 2013 Outlook Anywhere: scenarios, the transition system, the reference simulator."""
