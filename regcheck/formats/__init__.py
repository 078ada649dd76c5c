"""The file formats regcheck writes and reads: ITF traces, JUnit XML, SARIF 2.1.0, Promela (and SPIN's
verdicts on it), and a chart's Mermaid text. Each turns the core's data into a document or back."""
