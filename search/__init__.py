"""Search stage: lexical and dense retrieval, fusion, evidence highlighting, priority grouping."""
