/**
 * The headers the protocol names beyond HTTP's own, lower-cased as Node hands them over.
 *
 * @since 0.1.0
 */

/**
 * On an export's answer: the cursor of the snapshot it was read from, what `changed_since` takes to
 * ask for the jobs changed since (contract §11).
 *
 * @since 0.1.0
 */
export const cursor = "ground-truth-cursor"

/**
 * On an export's answer: when its snapshot was taken, as contract §6 writes a time.
 *
 * @since 0.1.0
 */
export const snapshotTime = "ground-truth-snapshot-time"

/**
 * On a review write (a correction, an approval, a rejection): the reviewer it is recorded under.
 *
 * @since 0.1.0
 */
export const reviewer = "x-user-id"
