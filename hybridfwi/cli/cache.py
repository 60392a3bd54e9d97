"""``hybridfwi cache``: what the adapter cache holds, and clearing it."""

from __future__ import annotations

import time

import click

from hybridfwi.cli.output import echo

from hybridfwi.dl.adapt import cache_entries, cache_root, clear_cache


@click.group("cache")
def command():
    """The survey-adapter cache ($HYBRIDFWI_CACHE or ~/.cache/hybridfwi): list and clear."""


@command.command("list")
@click.option("--cache", default=None, type=click.Path(file_okay=False), help="Cache folder [the default one].")
def list_(cache):
    """Every cached adapter with its size."""
    entries = cache_entries(cache)
    total = 0
    for e in entries:
        total += e["bytes"]
        state = "complete" if e["complete"] else "incomplete (resumable)"
        echo(f"{e['key']}  {e['bytes'] / 2**20:8.2f} MiB  {state:<24} {time.strftime('%Y-%m-%d %H:%M', time.localtime(e['modified']))}")
    echo(f"{len(entries)} adapter(s), {total / 2**20:.2f} MiB in {cache or cache_root()}")


@command.command("clear")
@click.argument("keys", nargs=-1)
@click.option("--cache", default=None, type=click.Path(file_okay=False), help="Cache folder [the default one].")
@click.option("--incomplete", is_flag=True, help="Only adapters whose adaptation never finished.")
def clear(keys, cache, incomplete):
    """Delete cached adapters: the KEYS given, or all of them."""
    gone = clear_cache(cache, list(keys) or None, incomplete)
    echo(f"deleted {len(gone)} adapter(s)")
