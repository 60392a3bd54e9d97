"""``python -m hybridfwi`` = ``hybridfwi``."""

from hybridfwi.cli.main import cli

if __name__ == "__main__":
    cli()
