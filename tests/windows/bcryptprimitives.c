/* A stand-in for Windows' bcryptprimitives.dll, which Wine 8 does not have,
 * for the Rust test programs only: Rust's std imports ProcessPrng from it
 * (for HashMap's random keys), and the test harness links that part of std.
 * pmdeflate.dll itself does not import it (tests/windows/run.sh checks).
 * ProcessPrng fills the buffer from the system's random generator and, as
 * documented for Windows, always returns TRUE. Installed into the Wine
 * prefix's system32 by tests/windows/run.sh. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            /* There is no failure to report: stop the process, as Windows does. */
            ExitProcess(3);
        }
        data += n;
        len -= n;
    }
    return TRUE;
}
