// Shared by the workflow interceptor (bundled into workflow code) and the activity interceptor: it may
// import nothing but @temporalio/common.

/**
 * Activity header carrying the cycle that started the calling workflow, so a vendor lookup, whose input
 * names only its IOC, still logs its cycle.
 */
export const CYCLE_HEADER = 'iocflow-cycle-id';
