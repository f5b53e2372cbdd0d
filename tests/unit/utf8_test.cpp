// Tests of lib/utf8.
#include <gtest/gtest.h>
