"""RQ jobs of the shop."""


def make_report(month):
    return f"sales report for {month}"
