"""Replaying a report's evidence: each recorded request sent again exactly as it was, with the same kind of
credentials, and its answer compared with the recorded one (``oai-conformance evidence``).

``plan`` rebuilds the requests from report.json, ``compare`` judges an answer against the recorded one,
``command`` sends them through the transport policy and is the CLI command.
"""
