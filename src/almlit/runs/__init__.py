"""The run lifecycle: the run folder (its format, writer and reader), run identity, resuming, preemption, checkpoint
IO, the CSV logger and the one atomic file write they all share."""
