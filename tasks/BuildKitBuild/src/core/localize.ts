/**
 * Turns a message key of task.json's `messages` and its arguments into the user's text.
 * The task passes task-lib's `loc`; unit tests pass a formatter over task.json.
 */
export type Localize = (key: string, ...args: (string | number)[]) => string;
