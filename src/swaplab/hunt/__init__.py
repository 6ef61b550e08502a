"""swaplab hunt: races nobody wrote down, found by exploring pairs of kernel operations over generated small states."""  # noqa: E501
