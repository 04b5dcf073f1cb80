/* Test-only: Debian's Wine 8 lacks ProcessPrng in bcryptprimitives.dll, which Rust's std on
 * Windows imports for its random numbers, so the exe would not load. Beside the exe, this DLL
 * exports ProcessPrng over advapi32's RtlGenRandom (SystemFunction036). Real Windows (10 and
 * later) has ProcessPrng itself; nothing of this ships. */
#include <windows.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
