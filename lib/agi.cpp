// agi: to be written.
