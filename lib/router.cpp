// router: to be written.
