"""``hybridfwi predict``: DL velocity model for a survey or a dataset."""

from __future__ import annotations

import click

from hybridfwi.cli.output import echo

from hybridfwi.cli.options import (device_option, geometry_override, network_options, problem_config, problem_options,
                                   progress_option, survey_options)
from hybridfwi.hybrid.pipeline import HybridConfig
from hybridfwi.workflow.predict_run import PredictRun, run_predict


@click.command("predict")
@click.argument("target", metavar="SURVEY.segy|DIR")
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@network_options
@problem_options
@survey_options
@device_option
@progress_option
def command(target, out, model, adapt, adapt_samples, adapt_epochs, cache, flip, bands, low_cut, dx, depth, padding, tmax, line_source,
            top, water_velocity, seabed_depth, receiver_spacing, source_x, first_receiver_x, device, progress):
    """Predict velocity (m/s): velocity_dl.npy/.segy/.png for a survey (the same DL model `invert`
    starts from), predictions.npy for a dataset folder."""
    hc = HybridConfig(model=model, adapt=adapt, adapt_samples=adapt_samples, adapt_epochs=adapt_epochs, cache=cache,
                      device=device, **({} if flip is None else {"dl_flip": flip})).validate()
    res = run_predict(PredictRun(target=target, out=out, hybrid=hc,
                                 problem=problem_config(bands, low_cut, dx, depth, padding, tmax, line_source, top, water_velocity,
                                                        seabed_depth),
                                 geometry=geometry_override(receiver_spacing, source_x, first_receiver_x), progress=progress))
    echo(f"predicted {res['samples']} model(s) -> {res['out']}")
