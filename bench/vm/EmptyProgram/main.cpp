// Toro's ProfileKernelInitTime program (toro-spec §3.3): an empty program, so that the run is the
// kernel's whole initialisation and its exit. bench/boot/run.py times it.
int main() { return 0; }
