"""Results of runs and ensembles: ensemble members and reports, decision files, the paper's tables."""
