"""The renderers of traces: sequence charts (``chart``), their drawings as SVG and PNG (``draw``), state graphs
(``states``) and step tables as text (``text``); every one of them consumes ``regcheck.core.result.Trace``."""
