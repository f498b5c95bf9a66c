/**
 * The app's own modal dialogs (the native <dialog> element: focus stays inside, Escape cancels,
 * the page behind is inert), in place of the browser's prompt() and confirm(), which cannot be
 * styled, read badly on TVs and block the page.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";

function useModal(): preact.RefObject<HTMLDialogElement> {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return ref;
}

function Frame({ title, onCancel, children }: { title: string; onCancel: () => void; children: ComponentChildren }) {
  const ref = useModal();
  return (
    <dialog ref={ref} class="dialog" aria-label={title} onCancel={(e) => (e.preventDefault(), onCancel())}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

/** A yes/no question; `danger` marks the confirming button. */
export function ConfirmDialog({ title, message, confirmLabel, danger = false, onConfirm, onCancel }: { title: string; message: string; confirmLabel: string; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Frame title={title} onCancel={onCancel}>
      <p>{message}</p>
      <div class="actions">
        <button type="button" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" class={danger ? "danger" : ""} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </Frame>
  );
}

/** One line of text to enter (a new title, say); empty text cannot be submitted. */
export function PromptDialog({ title, label, initial, submitLabel, onSubmit, onCancel }: { title: string; label: string; initial: string; submitLabel: string; onSubmit: (value: string) => void; onCancel: () => void }) {
  const [value, setValue] = useState(initial);
  return (
    <Frame title={title} onCancel={onCancel}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSubmit(value.trim());
        }}
      >
        <label>
          {label}
          <input value={value} required maxLength={200} autoFocus onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" disabled={!value.trim()}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Frame>
  );
}
