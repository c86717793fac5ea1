/** Small line icons (16 px, currentColor), so the panels do not depend on an emoji font. */
const svg = (children: React.ReactNode) => (
  <svg
    width="14"
    height="14"
    viewBox="0 0 16 16"
    fill="none"
    stroke="currentColor"
    strokeWidth="1.5"
    aria-hidden
  >
    {children}
  </svg>
)

export const EyeIcon = () =>
  svg(
    <>
      <path d="M1 8s2.5-5 7-5 7 5 7 5-2.5 5-7 5-7-5-7-5z" />
      <circle cx="8" cy="8" r="2" />
    </>,
  )

export const EyeOffIcon = () =>
  svg(
    <>
      <path d="M1 8s2.5-5 7-5 7 5 7 5-2.5 5-7 5-7-5-7-5z" opacity="0.4" />
      <path d="M2 14 14 2" />
    </>,
  )

export const LockIcon = () =>
  svg(
    <>
      <rect x="3" y="7" width="10" height="7" rx="1" />
      <path d="M5 7V5a3 3 0 0 1 6 0v2" />
    </>,
  )

export const UnlockIcon = () =>
  svg(
    <>
      <rect x="3" y="7" width="10" height="7" rx="1" opacity="0.5" />
      <path d="M5 7V5a3 3 0 0 1 6 0" opacity="0.5" />
    </>,
  )
