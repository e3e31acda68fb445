"""Analysis of stored artifacts without torch: ground truth, statistics, correlation tables, the
studies, the protocol comparison, artifact inspection, the report and its render check.
"""
