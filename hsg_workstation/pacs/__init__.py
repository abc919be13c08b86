"""DICOM networking: DIMSE association, find / retrieve / store, the storage SCP, nodes and TLS.

Split out of ``dicom_io`` (which keeps files, pixels and the local database, with no network): the network stack
is a subject of its own and sits one layer above the file layer it writes into.
"""
