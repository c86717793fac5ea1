/** Labeling calls and events (the annotation editor): merged into the contract in ./contract.ts. */
export const annotateCalls = {} as const

export const annotateEvents = {} as const
