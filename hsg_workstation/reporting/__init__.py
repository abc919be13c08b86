"""The structured HSG report: model (split by subject, `model.py` re-exports), form specification, rules,
impression, workflows (prefill, export, send), DICOM SR / KOS, PDF. No Qt but the PDF engine."""
