"""`python -m flows.cli` runs the command line, as the `sinch-groups` script does."""

from flows.cli import main

main()
