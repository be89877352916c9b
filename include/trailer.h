/* Declared here rather than generated: the Rust side takes a plain int so
 * that any value a C caller passes is defined behaviour. */
#ifndef PMDEFLATE_RESULT_FUNCTIONS_H
#define PMDEFLATE_RESULT_FUNCTIONS_H
#ifdef __cplusplus
extern "C" {
#endif

/**
 * The name of a result, e.g. "PMD_ERR_NEGOTIATION"; "PMD_ERR_UNKNOWN" for a
 * value that is not a pmd_result. A static string, never NULL. Thread-safe.
 */
const char *pmd_result_name(pmd_result r);

/**
 * The WebSocket close code to send after a failure with this result: 1002
 * for PMD_ERR_PROTOCOL, 1007 for PMD_ERR_CORRUPT_DATA, 1009 for
 * PMD_ERR_PAYLOAD_TOO_BIG, 1011 for PMD_ERR_OUT_OF_MEMORY and
 * PMD_ERR_INTERNAL; 0 for every other value (nothing to close for).
 * Thread-safe.
 */
uint16_t pmd_result_close_code(pmd_result r);

#ifdef __cplusplus
}  /* extern "C" */
#endif
#endif  /* PMDEFLATE_RESULT_FUNCTIONS_H */
