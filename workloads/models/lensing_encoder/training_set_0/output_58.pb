Bnew/vib/model1/biasJ<º¶u½r¤I¾€p:¾×9¾14¾˜Ã„=…×“¾ñW>e=º=G
†>CGß=Ë0—>‹c=î„½à§L¾