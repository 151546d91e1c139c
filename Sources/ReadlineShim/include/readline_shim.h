#ifndef RUNQL_READLINE_SHIM_H
#define RUNQL_READLINE_SHIM_H

/// The few readline operations the runql shell uses, as functions: readline's state is C globals,
/// which Swift 6's strict concurrency will not touch directly.

/// Completions for `word`, which starts at byte `start` of `line`: a malloc'd, NULL-terminated
/// array of malloc'd strings (possibly empty), or NULL to let readline complete file names.
typedef char **_Nullable (*runql_completer_t)(const char *_Nonnull line, int start, const char *_Nonnull word);

/// Sets up readline: program name, history file, word breaks, completion, and SIGINT handling
/// (Ctrl-C clears the line being typed, or asks a running query to stop).
/// `primary_prompt` is the prompt Ctrl-C returns to (copied).
void runql_readline_setup(const char *_Nonnull history_path, const char *_Nonnull primary_prompt, runql_completer_t _Nonnull completer);

/// Reads a line (malloc'd; NULL at end of input).
char *_Nullable runql_readline(const char *_Nonnull prompt);

/// Adds an entry to the history and appends it to the history file.
void runql_history_add(const char *_Nonnull entry, const char *_Nonnull history_path);

/// Whether Ctrl-C was pressed at the prompt since the last call (and clears it).
int runql_take_interrupt(void);

/// Whether Ctrl-C was pressed while a query ran; `runql_clear_cancel` resets it.
int runql_cancel_requested(void);
void runql_clear_cancel(void);

#endif
