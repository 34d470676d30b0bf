"""The vocabulary of a run, with no HTTP and no pytest: outcomes and violations (``results``), the
requirement catalogue (``catalogue``) and scores and verdicts (``scoring``)."""
