"""Everything that touches DICOM files and the network. No Qt."""
