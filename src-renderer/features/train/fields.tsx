import { parseNum } from './format'

/**
 * A number typed as text, so that "abc" or "" reach the config check (which says what is wrong)
 * instead of being swallowed by the browser. Uncontrolled: the form re-keys it when the config is
 * replaced (a preset loaded, a run's config reused).
 */
export function NumField({
  label,
  value,
  onChange,
  invalid,
  testid,
  title,
  disabled,
}: {
  label: string
  value: number | undefined
  onChange: (n: number) => void
  invalid?: boolean
  testid?: string
  title?: string
  disabled?: boolean
}) {
  return (
    <label title={title}>
      {label}
      <input
        type="text"
        inputMode="decimal"
        aria-label={label}
        defaultValue={value === undefined || Number.isNaN(value) ? '' : String(value)}
        onChange={(e) => onChange(parseNum(e.target.value))}
        className={invalid ? 'invalid' : undefined}
        aria-invalid={invalid || undefined}
        data-testid={testid}
        disabled={disabled}
      />
    </label>
  )
}

export function SelectField<T extends string>({
  label,
  value,
  options,
  onChange,
  testid,
}: {
  label: string
  value: T
  options: readonly T[] | readonly { value: T; label: string }[]
  onChange: (v: T) => void
  testid?: string
}) {
  return (
    <label>
      {label}
      <select
        aria-label={label}
        value={value}
        onChange={(e) => onChange(e.target.value as T)}
        data-testid={testid}
      >
        {options.map((o) => {
          const v = typeof o === 'string' ? o : o.value
          return (
            <option key={v} value={v}>
              {typeof o === 'string' ? o : o.label}
            </option>
          )
        })}
      </select>
    </label>
  )
}
