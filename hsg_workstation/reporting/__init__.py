"""The structured HSG report: model, rules, impression, DICOM SR / KOS, PDF. No Qt but the PDF engine."""
