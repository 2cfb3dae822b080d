int pigplan_kernels_placeholder(void);
