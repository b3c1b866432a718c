// OpenBLAS's cblas.h also declares openblas_set_num_threads and openblas_get_corename.
#ifndef AFFECTD_COPENBLAS_SHIM_H
#define AFFECTD_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
