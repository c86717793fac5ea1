/** Training calls and events (the training lab): merged into the contract in ./contract.ts. */
export const trainCalls = {} as const

export const trainEvents = {} as const
