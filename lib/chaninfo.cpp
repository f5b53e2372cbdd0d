// chaninfo: to be written.
