"""Measuring the bot: the three figures (metrics), the thresholds they imply, the benchmarks."""


def evaluate(*args, **kwargs):
    from bot.evaluation.evaluate import evaluate as run

    return run(*args, **kwargs)
