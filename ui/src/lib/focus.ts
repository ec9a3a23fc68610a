// Focus for messages that appear after an action: an error that shows up takes the focus (so
// a screen reader reads it and the page scrolls to it), without jumping the page when it was
// already in view. Used as `use:focusNew` on the element, which needs tabindex="-1".

export function focusNew(node: HTMLElement): void {
  // After the current render: the element's siblings are in place by then.
  queueMicrotask(() => {
    if (!node.isConnected) return;
    node.focus({ preventScroll: true });
    node.scrollIntoView?.({ block: 'nearest' });
  });
}
