// base64: to be written.
