int pigplan_kernels_placeholder(void) { return 0; }
