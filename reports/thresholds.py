"""The thresholds of ``dmlbench compare``, apart from it: the command line shows them in
its ``--help``, which must not import numpy (``dmlbench --help`` starts in well under
0.3 s)."""

#: Above this coefficient of variation of its timed fits, a side is too noisy to judge.
UNSTABLE_CV = 0.10
#: The default threshold, calibrated by A/A runs on this project's 2-core machine (the
#: `calibration` suite, plain and slowed runs interleaved, 12 cases each; README): chosen
#: on 10 pairs, where single-run A/A comparisons flagged 1 of 1080 cases at 0.15 (0 at
#: 0.20, 13 at 0.10) while a genuine 1.3x slowdown was found on 115 of 120 (101 at
#: 0.20); checked on 6 more pairs: 0 of 360 A/A flagged, 72 of 72 slowdowns found.
DEFAULT_THRESHOLD = 0.15

__all__ = ["DEFAULT_THRESHOLD", "UNSTABLE_CV"]
