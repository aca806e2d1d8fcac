"""Process exit codes: the only place the numbers live, so README, CLI and CI agree."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What `diagnose` tells the shell (and a CI step) about the run."""

    OK = 0  # no root cause found (healthy, or only symptoms without a cause)
    FINDINGS = 1  # root-cause finding(s), or a class named by --fail-on
    USAGE = 2  # bad options or arguments
    NO_INPUT = 3  # nothing usable: unreadable source, or nothing parsed at all
    BAD_RULES = 4  # a rule pack failed to load or validate
    PULL_FAILED = 5  # the Cloud Logging pull failed (auth, permission, quota, network)
