"""K-fold cross-validation over an MRI training cohort: every training subject validates once, classes in every fold."""

from almlit.data.mri import MRICohort

SHAPE = (8, 16, 16)


def test_folds_partition_the_training_cohort(generated_cohort):
    root, _ = generated_cohort
    validated, tests = [], []
    for fold in range(3):
        datamodule = MRICohort(root, shape=SHAPE, folds=3, fold=fold, split_seed=5)
        datamodule.setup("fit")
        validation = datamodule.val_dataset.sample_ids.tolist()
        train = datamodule.train_dataset.sample_ids.tolist()
        assert not set(validation) & set(train)
        assert sorted(datamodule.val_dataset.labels.tolist()) == [0, 0, 0, 1]  # 9 negatives and 3 positives, in 3
        validated += validation
        tests.append(datamodule.test_sample_ids.tolist())
    training_cohort = sorted(validated)
    assert len(set(validated)) == len(validated) == 12  # each of the 12 training subjects validates exactly once
    assert sorted(train + validation) == training_cohort
    assert tests[0] == tests[1] == tests[2]
