// Tests of lib/fsutil.
#include <gtest/gtest.h>
