// Tests of lib/config.
#include <gtest/gtest.h>
