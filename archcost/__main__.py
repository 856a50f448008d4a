"""`python -m archcost`: the same as the `archcost` command."""

from archcost.cli import app

app()
