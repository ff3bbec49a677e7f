"""The payment provider: a network call the order view makes inside its transaction, after the
task is sent (the `on-commit` lesson's scenario stands in for the provider, to answer once the
worker has run)."""

import time


def charge(order):
    time.sleep(0.2)  # the provider's answer
    return True
