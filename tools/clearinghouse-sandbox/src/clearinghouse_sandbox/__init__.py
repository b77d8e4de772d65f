"""A clearinghouse sandbox (SPEC 7): SFTP in, pyx12 validation, TA1/999/277CA out."""
