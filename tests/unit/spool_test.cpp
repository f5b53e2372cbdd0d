// Tests of lib/spool.
#include <gtest/gtest.h>
