"""Prefect flows around `pipeline`, and the `sinch-groups` command that runs them."""
