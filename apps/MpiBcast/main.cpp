// Port of Toro HEAD's MpiBcast example (toro-spec §3.4): the Pascal program runs the C kernel
// (MPI_Bcast.c, its mainC) as a thread on every core, one MPI rank per core (ToroMpi.h), and loops
// forever; MpiRunOnEveryCore does the same and returns when every core's mainC has, so the
// program ends and can be a VM test.
#include <ToroMpi.h>

extern "C" void mainC();

int main() { return MpiRunOnEveryCore(mainC); }
